//! MNIST and Fashion-MNIST in the idx format (`*-idx3-ubyte` images, `*-idx1-ubyte`
//! labels), plain or gzip-compressed.
//!
//! An idx file is a big-endian header — the magic number `0x000008NN` (`0x08` = unsigned
//! bytes, `NN` = the number of dimensions), then one `u32` per dimension — followed by the
//! data. Images are `[count, rows, cols]` (magic `0x00000803`), labels `[count]`
//! (magic `0x00000801`). Compression is recognised by the gzip magic bytes, not by the file
//! name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::dataset::Split;
use super::error::{DataError, Result};
use super::memory::InMemoryDataset;

/// Magic number of an idx file of unsigned-byte images (3 dimensions).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an idx file of unsigned-byte labels (1 dimension).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// The Fashion-MNIST class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Which MNIST-format dataset a folder holds (they differ only in class names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MnistVariant {
    /// Handwritten digits, classes `"0"` … `"9"`.
    Digits,
    /// Zalando's Fashion-MNIST, classes [`FASHION_MNIST_CLASSES`].
    Fashion,
}

impl MnistVariant {
    /// The class names, by label.
    pub fn class_names(self) -> Vec<String> {
        match self {
            Self::Digits => (0..10).map(|d| d.to_string()).collect(),
            Self::Fashion => FASHION_MNIST_CLASSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// The images of an idx3 file: `count` images of `rows × cols` bytes, one after the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows (height) of each image.
    pub rows: usize,
    /// Columns (width) of each image.
    pub cols: usize,
    /// `count × rows × cols` pixel bytes.
    pub pixels: Vec<u8>,
}

/// Reads a whole file, un-gzipping it if it starts with the gzip magic bytes.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| DataError::io("cannot read", path, e))?;
    maybe_gunzip(path, raw)
}

/// `raw` un-gzipped if it starts with the gzip magic bytes (`path` names it in errors).
fn maybe_gunzip(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 2);
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| DataError::Format {
                path: path.to_path_buf(),
                reason: format!("corrupt or truncated gzip stream: {e}"),
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an idx header with `dims` dimensions and returns them with the header length.
fn parse_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    dims: usize,
    what: &'static str,
) -> Result<(Vec<usize>, usize)> {
    let header_len = 4 + 4 * dims;
    if bytes.len() < 4 {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            what: "the idx magic number".into(),
            expected: 4,
            found: bytes.len() as u64,
        });
    }
    let be_u32 =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let found = be_u32(0);
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: magic,
            found,
            what,
        });
    }
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            what: format!("the {dims}-dimension idx header"),
            expected: header_len as u64,
            found: bytes.len() as u64,
        });
    }
    let shape = (0..dims).map(|d| be_u32(4 + 4 * d) as usize).collect();
    Ok((shape, header_len))
}

/// Checks that the data after the header is exactly `body` bytes.
fn check_body(path: &Path, bytes: &[u8], header_len: usize, body: usize, what: &str) -> Result<()> {
    let expected = header_len + body;
    if bytes.len() < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            what: what.to_string(),
            expected: expected as u64,
            found: bytes.len() as u64,
        });
    }
    if bytes.len() > expected {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            reason: format!(
                "{} trailing bytes after {what} ({expected} bytes)",
                bytes.len() - expected
            ),
        });
    }
    Ok(())
}

/// Reads an idx3 unsigned-byte image file (plain or gzip).
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    parse_idx_images(path, read_maybe_gz(path)?)
}

/// Parses the (un-gzipped) bytes of an idx3 image file; `path` names it in errors.
fn parse_idx_images(path: &Path, bytes: Vec<u8>) -> Result<IdxImages> {
    let (shape, header_len) = parse_header(
        path,
        &bytes,
        IDX_IMAGES_MAGIC,
        3,
        "idx3 unsigned-byte images",
    )?;
    let (count, rows, cols) = (shape[0], shape[1], shape[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            reason: format!("image size {rows}x{cols}: rows and columns must be positive"),
        });
    }
    let body = count
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(cols))
        .ok_or_else(|| DataError::Format {
            path: path.to_path_buf(),
            reason: format!("header declares {count} images of {rows}x{cols}: too large"),
        })?;
    check_body(
        path,
        &bytes,
        header_len,
        body,
        &format!("{count} images of {rows}x{cols}"),
    )?;
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: bytes[header_len..].to_vec(),
    })
}

/// Reads an idx1 unsigned-byte label file (plain or gzip).
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    parse_idx_labels(path, read_maybe_gz(path)?)
}

/// Parses the (un-gzipped) bytes of an idx1 label file; `path` names it in errors.
fn parse_idx_labels(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let (shape, header_len) = parse_header(
        path,
        &bytes,
        IDX_LABELS_MAGIC,
        1,
        "idx1 unsigned-byte labels",
    )?;
    check_body(
        path,
        &bytes,
        header_len,
        shape[0],
        &format!("{} labels", shape[0]),
    )?;
    Ok(bytes[header_len..].to_vec())
}

/// Writes `path` (gzip-compressed at the best level if its name ends in `.gz`, with a zero
/// timestamp so equal inputs give byte-identical files).
fn write_maybe_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    let gz = path.extension().is_some_and(|e| e == "gz");
    let out = if gz {
        let mut enc = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        enc.write_all(bytes)
            .map_err(|e| DataError::io("cannot compress", path, e))?;
        enc.finish()
            .map_err(|e| DataError::io("cannot compress", path, e))?
    } else {
        bytes.to_vec()
    };
    std::fs::write(path, out).map_err(|e| DataError::io("cannot write", path, e))
}

/// Writes an idx3 image file (gzip if the name ends in `.gz`).
pub fn write_idx_images(path: impl AsRef<Path>, images: &IdxImages) -> Result<()> {
    let path = path.as_ref();
    if images.pixels.len() != images.count * images.rows * images.cols {
        return Err(DataError::param(
            "IdxImages.pixels length",
            images.pixels.len(),
            format!("{} images of {}x{}", images.count, images.rows, images.cols),
        ));
    }
    let mut bytes = Vec::with_capacity(16 + images.pixels.len());
    for v in [
        IDX_IMAGES_MAGIC,
        to_u32(images.count)?,
        to_u32(images.rows)?,
        to_u32(images.cols)?,
    ] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend_from_slice(&images.pixels);
    write_maybe_gz(path, &bytes)
}

/// Writes an idx1 label file (gzip if the name ends in `.gz`).
pub fn write_idx_labels(path: impl AsRef<Path>, labels: &[u8]) -> Result<()> {
    let mut bytes = Vec::with_capacity(8 + labels.len());
    bytes.extend_from_slice(&IDX_LABELS_MAGIC.to_be_bytes());
    bytes.extend_from_slice(&to_u32(labels.len())?.to_be_bytes());
    bytes.extend_from_slice(labels);
    write_maybe_gz(path.as_ref(), &bytes)
}

fn to_u32(v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| DataError::param("idx dimension", v, "must fit in 32 bits"))
}

/// Loads an image file and a label file as one dataset (1 channel).
///
/// Fails if the counts differ, or, naming the label file and record, if a label is not below
/// `class_names.len()`.
pub fn load_idx_pair(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    class_names: Vec<String>,
) -> Result<InMemoryDataset> {
    let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
    idx_pair_dataset(
        images_path,
        read_idx_images(images_path)?,
        labels_path,
        read_idx_labels(labels_path)?,
        class_names,
    )
}

/// [`load_idx_pair`] from bytes in memory (each plain or gzip) instead of files: for
/// embedded data such as the demo dataset. The paths only name the sources in errors.
pub fn idx_pair_from_bytes(
    images: (&Path, &[u8]),
    labels: (&Path, &[u8]),
    class_names: Vec<String>,
) -> Result<InMemoryDataset> {
    let (images_path, images_bytes) = images;
    let (labels_path, labels_bytes) = labels;
    idx_pair_dataset(
        images_path,
        parse_idx_images(
            images_path,
            maybe_gunzip(images_path, images_bytes.to_vec())?,
        )?,
        labels_path,
        parse_idx_labels(
            labels_path,
            maybe_gunzip(labels_path, labels_bytes.to_vec())?,
        )?,
        class_names,
    )
}

/// One dataset from parsed images and labels, checked against each other.
fn idx_pair_dataset(
    images_path: &Path,
    images: IdxImages,
    labels_path: &Path,
    labels: Vec<u8>,
    class_names: Vec<String>,
) -> Result<InMemoryDataset> {
    if images.count != labels.len() {
        return Err(DataError::Format {
            path: labels_path.to_path_buf(),
            reason: format!(
                "{} labels but {} has {} images",
                labels.len(),
                images_path.display(),
                images.count
            ),
        });
    }
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= class_names.len())
    {
        return Err(DataError::LabelOutOfRange {
            path: labels_path.to_path_buf(),
            index,
            label: label.into(),
            num_classes: class_names.len(),
        });
    }
    let labels = labels.into_iter().map(usize::from).collect();
    InMemoryDataset::new(
        images.cols,
        images.rows,
        1,
        images.pixels,
        labels,
        class_names,
    )
}

/// The standard file names of a split: (`images`, `labels`) without `.gz`.
pub fn mnist_file_names(split: Split) -> (&'static str, &'static str) {
    match split {
        Split::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        Split::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
}

/// `dir/name`, or `dir/name.gz` if only that exists.
fn find_plain_or_gz(dir: &Path, name: &str) -> Result<PathBuf> {
    let plain = dir.join(name);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(DataError::NotFound {
        path: plain,
        what: format!("neither {name} nor {name}.gz in {}", dir.display()),
    })
}

/// Loads one split of MNIST or Fashion-MNIST from `dir`, which holds the standard file names
/// (`train-images-idx3-ubyte`, ..., each plain or `.gz`).
pub fn load_mnist(
    dir: impl AsRef<Path>,
    split: Split,
    variant: MnistVariant,
) -> Result<InMemoryDataset> {
    let dir = dir.as_ref();
    let (images, labels) = mnist_file_names(split);
    load_idx_pair(
        find_plain_or_gz(dir, images)?,
        find_plain_or_gz(dir, labels)?,
        variant.class_names(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;
    use crate::test_util::TempDir;

    fn images() -> IdxImages {
        IdxImages {
            count: 3,
            rows: 2,
            cols: 3,
            pixels: (0..18).collect(),
        }
    }

    #[test]
    fn round_trips_plain_and_gz() {
        let tmp = TempDir::new("idx-rt");
        for name in ["a-idx3-ubyte", "a-idx3-ubyte.gz"] {
            let p = tmp.path().join(name);
            write_idx_images(&p, &images()).unwrap();
            assert_eq!(read_idx_images(&p).unwrap(), images());
        }
        let raw = std::fs::read(tmp.path().join("a-idx3-ubyte")).unwrap();
        assert_eq!(&raw[..8], &[0, 0, 8, 3, 0, 0, 0, 3]);
        assert_eq!(raw.len(), 16 + 18);
        assert_eq!(
            &std::fs::read(tmp.path().join("a-idx3-ubyte.gz")).unwrap()[..2],
            &[0x1f, 0x8b]
        );
    }

    #[test]
    fn bytes_in_memory_load_like_files_and_name_their_source_in_errors() {
        let tmp = TempDir::new("idx-bytes");
        let (i, l) = (tmp.path().join("i.gz"), tmp.path().join("l"));
        write_idx_images(&i, &images()).unwrap();
        write_idx_labels(&l, &[1, 2, 0]).unwrap();
        let names = vec!["a".to_string(), "b".into(), "c".into()];
        let (ib, lb) = (std::fs::read(&i).unwrap(), std::fs::read(&l).unwrap());
        let from_bytes = idx_pair_from_bytes((&i, &ib), (&l, &lb), names.clone()).unwrap();
        let from_files = load_idx_pair(&i, &l, names.clone()).unwrap();
        assert_eq!(from_bytes.pixels(), from_files.pixels());
        assert_eq!(from_bytes.labels(), &[1, 2, 0]);
        let source = Path::new("<embedded>/l");
        let err = idx_pair_from_bytes((&i, &ib), (source, &lb[..lb.len() - 1]), names)
            .unwrap_err()
            .to_string();
        assert!(err.contains("<embedded>/l"), "{err}");
    }

    #[test]
    fn load_mnist_builds_a_dataset() {
        let tmp = TempDir::new("idx-load");
        write_idx_images(tmp.path().join("t10k-images-idx3-ubyte.gz"), &images()).unwrap();
        write_idx_labels(tmp.path().join("t10k-labels-idx1-ubyte"), &[9, 0, 4]).unwrap();
        let ds = load_mnist(tmp.path(), Split::Test, MnistVariant::Fashion).unwrap();
        assert_eq!(
            (ds.len(), ds.width(), ds.height(), ds.channels()),
            (3, 3, 2, 1)
        );
        let s = ds.get(1).unwrap();
        assert_eq!(s.label, 0);
        assert_eq!(s.image.data(), &[6, 7, 8, 9, 10, 11]);
        assert_eq!(ds.class_names()[9], "Ankle boot");
    }

    #[test]
    fn wrong_magic_is_reported() {
        let tmp = TempDir::new("idx-magic");
        let p = tmp.path().join("train-images-idx3-ubyte");
        // A label file where an image file is expected.
        write_idx_labels(&p, &[1, 2]).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(
            matches!(&err, DataError::BadMagic { expected: 0x803, found: 0x801, path, .. } if path == &p),
            "{err}"
        );
    }

    #[test]
    fn truncated_files_are_reported_with_sizes() {
        let tmp = TempDir::new("idx-trunc");
        let p = tmp.path().join("x-idx3-ubyte");
        write_idx_images(&p, &images()).unwrap();
        let mut raw = std::fs::read(&p).unwrap();
        raw.truncate(30);
        std::fs::write(&p, &raw).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 34,
                    found: 30,
                    ..
                }
            ),
            "{err}"
        );
        // Header cut short.
        std::fs::write(&p, &raw[..10]).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 16,
                    found: 10,
                    ..
                }
            ),
            "{err}"
        );
        std::fs::write(&p, &raw[..2]).unwrap();
        assert!(matches!(
            read_idx_images(&p).unwrap_err(),
            DataError::Truncated {
                expected: 4,
                found: 2,
                ..
            }
        ));
        // Extra bytes are an error too.
        write_idx_labels(&p, &[1, 2]).unwrap();
        let mut raw = std::fs::read(&p).unwrap();
        raw.push(0);
        std::fs::write(&p, &raw).unwrap();
        let err = read_idx_labels(&p).unwrap_err();
        assert!(err.to_string().contains("1 trailing bytes"), "{err}");
    }

    #[test]
    fn truncated_gzip_is_reported() {
        let tmp = TempDir::new("idx-gz");
        let p = tmp.path().join("x-idx3-ubyte.gz");
        write_idx_images(&p, &images()).unwrap();
        let raw = std::fs::read(&p).unwrap();
        std::fs::write(&p, &raw[..raw.len() / 2]).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(
            matches!(&err, DataError::Format { reason, path } if reason.contains("gzip") && path == &p),
            "{err}"
        );
    }

    #[test]
    fn label_out_of_range_and_count_mismatch() {
        let tmp = TempDir::new("idx-labels");
        let (img, lab) = (tmp.path().join("i"), tmp.path().join("l"));
        write_idx_images(&img, &images()).unwrap();
        write_idx_labels(&lab, &[1, 10, 2]).unwrap();
        let err = load_idx_pair(&img, &lab, MnistVariant::Digits.class_names()).unwrap_err();
        assert!(
            matches!(&err, DataError::LabelOutOfRange { index: 1, label: 10, num_classes: 10, path } if path == &lab),
            "{err}"
        );
        write_idx_labels(&lab, &[1, 2]).unwrap();
        let err = load_idx_pair(&img, &lab, MnistVariant::Digits.class_names()).unwrap_err();
        assert!(err.to_string().contains("2 labels but"), "{err}");
    }

    #[test]
    fn missing_files_name_both_candidates() {
        let tmp = TempDir::new("idx-missing");
        let err = load_mnist(tmp.path(), Split::Train, MnistVariant::Digits).unwrap_err();
        assert!(
            err.to_string().contains("train-images-idx3-ubyte.gz"),
            "{err}"
        );
    }
}
