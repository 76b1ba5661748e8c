//! [`ImageFolder`]: a `root/<class>/<image>` tree of JPEG/PNG files (the ImageNet layout).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use super::dataset::{Dataset, EncodedSample, check_index};
use super::encoded::EncodedImage;
use super::error::{DataError, Result};
use super::par::parallel_map;
use super::sample::{Image, Sample};

/// File extensions (lower case) taken as images.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// How [`ImageFolder::open`] reads the tree.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageFolderOptions {
    /// Channels of the decoded images: 3 (RGB; grayscale and RGBA files are converted) or 1
    /// (grayscale; colour files are converted to luma). Default 3.
    pub channels: usize,
    /// Decode every image once while opening and drop those that fail, recording them in
    /// [`ImageFolder::skipped`] instead of failing. Default `false`: the first unreadable
    /// image is an error naming the file (at open time if `preload` is on, otherwise when
    /// the loader reaches it).
    pub skip_corrupt: bool,
    /// Decode every image while opening and keep the pixels in memory (`u8`), so that
    /// [`Dataset::get`] only copies. Worth it for small images (CIFAR-10: 150 MB);
    /// for ImageNet leave it off and let the loader's workers decode. Default `false`.
    pub preload: bool,
    /// Threads used to decode while opening (with `skip_corrupt` or `preload`); 0 = one per
    /// core. Default 0.
    pub threads: usize,
    /// Let transforms decode a streamed JPEG at a reduced DCT scale when the output needs
    /// fewer pixels (only with the feature `libjpeg-turbo`; see [`EncodedImage`]). Pixels
    /// then differ slightly from decoding in full, as preloading does. Default `true`.
    #[serde(default = "scaled_decoding_default")]
    pub scaled_decoding: bool,
}

fn scaled_decoding_default() -> bool {
    true
}

impl Default for ImageFolderOptions {
    fn default() -> Self {
        Self {
            channels: 3,
            skip_corrupt: false,
            preload: false,
            threads: 0,
            scaled_decoding: true,
        }
    }
}

/// An image that [`ImageFolder::open`] left out because it could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedImage {
    /// The file.
    pub path: PathBuf,
    /// The decoder's error message.
    pub reason: String,
}

/// A dataset read from `root/<class>/<image>`: every sub-folder of `root` is a class (hidden
/// folders excluded), classes are indexed in byte order of their names, and the `.jpg`,
/// `.jpeg` and `.png` files directly inside a class folder (any case, hidden files excluded)
/// are its samples, in file-name order.
///
/// Other files and nested folders are not samples; they are listed by
/// [`ImageFolder::ignored`].
#[derive(Debug)]
pub struct ImageFolder {
    root: PathBuf,
    class_names: Vec<String>,
    files: Vec<PathBuf>,
    labels: Vec<usize>,
    channels: usize,
    scaled_decoding: bool,
    decoded: Option<Vec<Image>>,
    skipped: Vec<SkippedImage>,
    ignored: Vec<PathBuf>,
}

/// Whether `name` is hidden (starts with a dot).
fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// The entries of a folder, sorted by name, as (name, path, is_dir).
fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io("cannot list", dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DataError::io("cannot list", dir, e))?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|raw| DataError::Format {
                path: dir.to_path_buf(),
                reason: format!("entry name {raw:?} is not valid UTF-8"),
            })?;
        // `metadata` follows symbolic links, so linked class folders and images work.
        let meta = std::fs::metadata(&path).map_err(|e| DataError::io("cannot stat", &path, e))?;
        out.push((name, path, meta.is_dir()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Decodes an encoded JPEG or PNG file (`bytes`, read from `path`) into `channels` (1 or 3)
/// channels. The format is recognised from the content, falling back to the extension.
///
/// The `image` crate decodes (JPEG through `zune-jpeg`); with the feature `libjpeg-turbo`,
/// libjpeg-turbo decodes JPEGs other than CMYK ones (see [`EncodedImage`]).
///
/// [`EncodedImage`]: crate::EncodedImage
pub fn decode_image(path: &Path, bytes: &[u8], channels: usize) -> Result<Image> {
    let fail = |reason: String| DataError::Decode {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.is_empty() {
        return Err(fail("empty file (0 bytes)".into()));
    }
    #[cfg(feature = "libjpeg-turbo")]
    if let Some(size) = super::libjpeg_turbo::scalable_size(bytes) {
        return super::libjpeg_turbo::decode(path, bytes, channels, size, 1);
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| fail(e.to_string()))?;
    if reader.format().is_none() {
        match image::ImageFormat::from_path(path) {
            Ok(format) => reader.set_format(format),
            Err(_) => return Err(fail("unrecognised image format".into())),
        }
    }
    let decoded = reader.decode().map_err(|e| fail(e.to_string()))?;
    let (w, h) = (decoded.width() as usize, decoded.height() as usize);
    let data = match channels {
        3 => decoded.into_rgb8().into_raw(),
        1 => decoded.into_luma8().into_raw(),
        other => {
            return Err(DataError::param(
                "channels",
                other,
                "decoded images have 1 (grayscale) or 3 (RGB) channels",
            ));
        }
    };
    Image::new(w, h, channels, data)
}

/// Reads and decodes one image file.
fn read_image(path: &Path, channels: usize) -> Result<Image> {
    decode_image(path, &read_file(path)?, channels)
}

/// Reads one image file's bytes.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| DataError::io("cannot read", path, e))
}

/// Fails unless `options.channels` is 1 or 3.
fn check_channels(options: &ImageFolderOptions) -> Result<()> {
    if options.channels != 1 && options.channels != 3 {
        return Err(DataError::param(
            "channels",
            options.channels,
            "must be 1 (grayscale) or 3 (RGB)",
        ));
    }
    Ok(())
}

impl ImageFolder {
    /// Scans `root` and, depending on `options`, decodes every image.
    ///
    /// Fails if `root` cannot be listed, has no class folder, or a class folder holds no
    /// image file; with `preload` and without `skip_corrupt`, also on the first image (in
    /// sample order) that cannot be decoded.
    pub fn open(root: impl AsRef<Path>, options: &ImageFolderOptions) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        check_channels(options)?;
        let mut class_names = Vec::new();
        let mut files = Vec::new();
        let mut labels = Vec::new();
        let mut ignored = Vec::new();
        for (name, class_dir, is_dir) in list_dir(&root)? {
            if is_hidden(&name) {
                continue;
            }
            if !is_dir {
                ignored.push(class_dir);
                continue;
            }
            let label = class_names.len();
            let before = files.len();
            for (file_name, path, is_dir) in list_dir(&class_dir)? {
                if is_hidden(&file_name) {
                    continue;
                }
                let is_image = !is_dir
                    && Path::new(&file_name)
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| {
                            IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                        });
                if is_image {
                    files.push(path);
                    labels.push(label);
                } else {
                    ignored.push(path);
                }
            }
            if files.len() == before {
                return Err(DataError::Format {
                    path: class_dir,
                    reason: format!(
                        "class folder holds no image ({})",
                        IMAGE_EXTENSIONS.join(", ")
                    ),
                });
            }
            class_names.push(name);
        }
        if class_names.is_empty() {
            return Err(DataError::NotFound {
                path: root,
                what: "class folders (expected the layout root/<class>/<image>)".into(),
            });
        }

        Self::assemble(root, class_names, files, labels, ignored, options)
    }

    /// Reads the samples listed in `list`, one per line: an image path relative to `root`,
    /// whitespace, and its class index (the NSE reference's `train_meta` and
    /// `arch_val_meta` files: `n01440764/n01440764_10026.JPEG 0`). Blank lines and lines
    /// starting with `#` are skipped. Classes are named by their index, and there are as
    /// many as the largest index plus one (at least `min_classes`, so that lists of one
    /// dataset agree). `options` apply as in [`open`](Self::open).
    ///
    /// Fails, naming the line, on a line without a label, a label that is not a number, or a
    /// file that does not exist.
    pub fn from_list(
        root: impl AsRef<Path>,
        list: impl AsRef<Path>,
        min_classes: usize,
        options: &ImageFolderOptions,
    ) -> Result<Self> {
        let (root, list) = (root.as_ref().to_path_buf(), list.as_ref());
        check_channels(options)?;
        let text =
            std::fs::read_to_string(list).map_err(|e| DataError::io("cannot read", list, e))?;
        let (mut files, mut labels) = (Vec::new(), Vec::new());
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: String| DataError::Format {
                path: list.to_path_buf(),
                reason: format!("line {}: {reason}", i + 1),
            };
            let (path, label) = line
                .rsplit_once(char::is_whitespace)
                .ok_or_else(|| bad(format!("`{line}` is not `PATH LABEL`")))?;
            let label: usize = label
                .parse()
                .map_err(|_| bad(format!("the label `{label}` is not a class index")))?;
            let path = root.join(path.trim_end());
            if !path.is_file() {
                return Err(bad(format!("`{}` is not a file", path.display())));
            }
            files.push(path);
            labels.push(label);
        }
        if files.is_empty() {
            return Err(DataError::Format {
                path: list.to_path_buf(),
                reason: "lists no image".into(),
            });
        }
        let classes = labels.iter().max().map_or(0, |m| m + 1).max(min_classes);
        let class_names = (0..classes).map(|c| c.to_string()).collect();
        Self::assemble(root, class_names, files, labels, Vec::new(), options)
    }

    /// The dataset of the samples found, decoded as `options` ask (see [`open`](Self::open)).
    fn assemble(
        root: PathBuf,
        class_names: Vec<String>,
        files: Vec<PathBuf>,
        labels: Vec<usize>,
        ignored: Vec<PathBuf>,
        options: &ImageFolderOptions,
    ) -> Result<Self> {
        let mut folder = Self {
            root,
            class_names,
            files,
            labels,
            channels: options.channels,
            scaled_decoding: options.scaled_decoding,
            decoded: None,
            skipped: Vec::new(),
            ignored,
        };
        if options.preload || options.skip_corrupt {
            folder.decode_all(options)?;
        }
        Ok(folder)
    }

    /// Decodes every image on `options.threads` threads, dropping (with `skip_corrupt`) or
    /// failing on the unreadable ones, and keeps the pixels if `preload`.
    fn decode_all(&mut self, options: &ImageFolderOptions) -> Result<()> {
        let channels = self.channels;
        let files = &self.files;
        let results = parallel_map(files.len(), options.threads, |i| {
            read_image(&files[i], channels)
        });
        let mut keep_files = Vec::with_capacity(files.len());
        let mut keep_labels = Vec::with_capacity(files.len());
        let mut images = Vec::with_capacity(if options.preload { files.len() } else { 0 });
        for ((path, label), result) in self.files.drain(..).zip(self.labels.drain(..)).zip(results)
        {
            match result {
                Ok(image) => {
                    keep_files.push(path);
                    keep_labels.push(label);
                    if options.preload {
                        images.push(image);
                    }
                }
                Err(e) if options.skip_corrupt => self.skipped.push(SkippedImage {
                    path,
                    reason: e.to_string(),
                }),
                Err(e) => return Err(e),
            }
        }
        self.files = keep_files;
        self.labels = keep_labels;
        if options.preload {
            self.decoded = Some(images);
        }
        Ok(())
    }

    /// The folder the dataset was read from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The image files, in sample order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.files
    }

    /// The images left out because they could not be decoded (only with `skip_corrupt`).
    pub fn skipped(&self) -> &[SkippedImage] {
        &self.skipped
    }

    /// Files and folders that are not samples (non-image files in the root or in class
    /// folders, nested folders); hidden entries are not listed.
    pub fn ignored(&self) -> &[PathBuf] {
        &self.ignored
    }

    /// Whether the pixels are held in memory.
    pub fn is_preloaded(&self) -> bool {
        self.decoded.is_some()
    }
}

impl Dataset for ImageFolder {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn class_names(&self) -> &[String] {
        &self.class_names
    }

    fn label(&self, index: usize) -> Result<usize> {
        check_index(index, self.len())?;
        Ok(self.labels[index])
    }

    fn get(&self, index: usize) -> Result<Sample> {
        check_index(index, self.len())?;
        let image = match &self.decoded {
            Some(images) => images[index].clone(),
            None => read_image(&self.files[index], self.channels)?,
        };
        Ok(Sample {
            image,
            label: self.labels[index],
        })
    }

    fn get_encoded(&self, index: usize) -> Result<Option<EncodedSample>> {
        check_index(index, self.len())?;
        if self.decoded.is_some() {
            return Ok(None);
        }
        let path = &self.files[index];
        let bytes = read_file(path)?;
        Ok(Some(EncodedSample {
            image: EncodedImage {
                path: path.clone(),
                bytes,
                channels: self.channels,
                scaled: self.scaled_decoding,
            },
            label: self.labels[index],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    /// Writes a `w x h` RGB PNG whose pixel (x, y) is (x, y, value).
    fn write_png(path: &Path, w: u32, h: u32, value: u8) {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, value]));
        img.save(path).unwrap();
    }

    fn write_jpeg(path: &Path, w: u32, h: u32, value: u8) {
        let img = image::RgbImage::from_fn(w, h, |_, _| image::Rgb([value, value, value]));
        img.save_with_format(path, image::ImageFormat::Jpeg)
            .unwrap();
    }

    /// root/{cat: a.png b.JPG notes.txt, dog: c.png, .hidden/, README.md}
    fn tree(tmp: &TempDir) -> PathBuf {
        let root = tmp.path().join("root");
        for class in ["dog", "cat", ".hidden"] {
            std::fs::create_dir_all(root.join(class)).unwrap();
        }
        write_png(&root.join("cat/b.png"), 4, 3, 7);
        write_jpeg(&root.join("cat/a.JPG"), 8, 8, 200);
        std::fs::write(root.join("cat/notes.txt"), "x").unwrap();
        write_png(&root.join("dog/c.png"), 2, 2, 9);
        std::fs::write(root.join("README.md"), "x").unwrap();
        root
    }

    #[test]
    fn scans_sorted_classes_and_files() {
        let tmp = TempDir::new("folder-scan");
        let root = tree(&tmp);
        let ds = ImageFolder::open(&root, &ImageFolderOptions::default()).unwrap();
        assert_eq!(ds.class_names(), &["cat".to_string(), "dog".to_string()]);
        assert_eq!(ds.len(), 3);
        let names: Vec<_> = ds
            .paths()
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["a.JPG", "b.png", "c.png"]);
        assert_eq!(
            (0..3).map(|i| ds.label(i).unwrap()).collect::<Vec<_>>(),
            [0, 0, 1]
        );
        assert_eq!(ds.ignored().len(), 2);

        let b = ds.get(1).unwrap();
        assert_eq!(b.image.shape_chw(), [3, 3, 4]);
        assert_eq!(b.image.pixel(3, 2), &[3, 2, 7]);
        // JPEG is lossy, but a flat grey survives within a couple of levels.
        let a = ds.get(0).unwrap();
        assert!(
            a.image.data().iter().all(|&v| v.abs_diff(200) <= 2),
            "{:?}",
            &a.image.data()[..6]
        );
    }

    #[test]
    fn a_list_file_names_the_samples_and_their_classes() {
        let dir = TempDir::new("image-list");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a")).unwrap();
        for (name, value) in [("a/x.png", 10u8), ("a/y.png", 200), ("b.png", 90)] {
            let img = image::GrayImage::from_pixel(3, 2, image::Luma([value]));
            img.save(root.join(name)).unwrap();
        }
        let list = root.join("train_meta.txt");
        std::fs::write(&list, "# path label\na/x.png 2\n\nb.png 0\na/y.png   2\n").unwrap();
        let options = ImageFolderOptions {
            channels: 1,
            ..ImageFolderOptions::default()
        };
        let ds = ImageFolder::from_list(root, &list, 0, &options).unwrap();
        assert_eq!(ds.len(), 3);
        assert_eq!(ds.class_names(), ["0", "1", "2"]);
        assert_eq!((ds.label(0).unwrap(), ds.label(1).unwrap()), (2, 0));
        assert_eq!(ds.get(2).unwrap().image.data(), &[200; 6]);
        assert_eq!(
            ImageFolder::from_list(root, &list, 5, &options)
                .unwrap()
                .num_classes(),
            5
        );
        for (text, says) in [
            ("a/x.png\n", "line 1: `a/x.png` is not `PATH LABEL`"),
            (
                "a/x.png 1\na/x.png cat\n",
                "line 2: the label `cat` is not a class index",
            ),
            ("missing.png 0\n", "missing.png` is not a file"),
            ("# nothing\n", "lists no image"),
        ] {
            std::fs::write(&list, text).unwrap();
            let err = ImageFolder::from_list(root, &list, 0, &options).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
        }
    }

    #[test]
    fn grayscale_and_preload_give_the_same_pixels() {
        let tmp = TempDir::new("folder-gray");
        let root = tree(&tmp);
        let opts = ImageFolderOptions {
            channels: 1,
            ..Default::default()
        };
        let lazy = ImageFolder::open(&root, &opts).unwrap();
        let pre = ImageFolder::open(
            &root,
            &ImageFolderOptions {
                preload: true,
                ..opts
            },
        )
        .unwrap();
        assert!(pre.is_preloaded() && !lazy.is_preloaded());
        for i in 0..3 {
            assert_eq!(lazy.get(i).unwrap(), pre.get(i).unwrap());
        }
        let c = lazy.get(2).unwrap().image;
        assert_eq!(c.shape_chw(), [1, 2, 2]);
    }

    #[test]
    fn zero_byte_jpeg_is_an_error_naming_the_file() {
        let tmp = TempDir::new("folder-empty");
        let root = tree(&tmp);
        let bad = root.join("dog/zero.jpg");
        std::fs::write(&bad, b"").unwrap();
        // Lazy: the scan succeeds, reading the sample fails.
        let ds = ImageFolder::open(&root, &ImageFolderOptions::default()).unwrap();
        let idx = ds.paths().iter().position(|p| p == &bad).unwrap();
        let err = ds.get(idx).unwrap_err();
        assert!(
            matches!(&err, DataError::Decode { path, reason } if path == &bad && reason.contains("0 bytes")),
            "{err}"
        );
        // Preload: opening fails.
        let opts = ImageFolderOptions {
            preload: true,
            ..Default::default()
        };
        let err = ImageFolder::open(&root, &opts).unwrap_err();
        assert!(
            matches!(&err, DataError::Decode { path, .. } if path == &bad),
            "{err}"
        );
    }

    #[test]
    fn corrupt_images_are_skipped_and_counted_on_request() {
        let tmp = TempDir::new("folder-skip");
        let root = tree(&tmp);
        std::fs::write(root.join("dog/zero.jpg"), b"").unwrap();
        let mut truncated = std::fs::read(root.join("cat/b.png")).unwrap();
        truncated.truncate(truncated.len() / 2);
        std::fs::write(root.join("cat/half.png"), truncated).unwrap();
        let opts = ImageFolderOptions {
            skip_corrupt: true,
            ..Default::default()
        };
        let ds = ImageFolder::open(&root, &opts).unwrap();
        assert_eq!(ds.len(), 3);
        let skipped: Vec<_> = ds
            .skipped()
            .iter()
            .map(|s| s.path.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(skipped, ["half.png", "zero.jpg"]);
        assert_eq!(
            (0..3).map(|i| ds.label(i).unwrap()).collect::<Vec<_>>(),
            [0, 0, 1]
        );
        assert!(!ds.is_preloaded());
    }

    #[test]
    fn layout_errors() {
        let tmp = TempDir::new("folder-layout");
        let err = ImageFolder::open(tmp.path(), &ImageFolderOptions::default()).unwrap_err();
        assert!(matches!(err, DataError::NotFound { .. }), "{err}");
        std::fs::create_dir(tmp.path().join("empty_class")).unwrap();
        let err = ImageFolder::open(tmp.path(), &ImageFolderOptions::default()).unwrap_err();
        assert!(
            matches!(&err, DataError::Format { path, .. } if path.ends_with("empty_class")),
            "{err}"
        );
        let err =
            ImageFolder::open(tmp.path().join("nope"), &ImageFolderOptions::default()).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err}");
        let opts = ImageFolderOptions {
            channels: 2,
            ..Default::default()
        };
        assert!(matches!(
            ImageFolder::open(tmp.path(), &opts),
            Err(DataError::InvalidParameter {
                name: "channels",
                ..
            })
        ));
    }
}
